/** What a page's `<head>` says: its title, where its assets are (`/assets/`, or `assets/` under a profile's
 *  `/p/<h>/`), the module that runs it, and any style sheet besides the shared one. */
export interface PageHead {
  title: string;
  assets: string;
  script: string;
  styles?: string[];
  bodyClass?: string;
}

/** The one page shell: every page of both processes, the static ones and those written for an error,
 *  has this head (the shared style sheet, its script as an ES module) around its own body. */
export function pageShell(head: PageHead, body: string): string {
  const styles = ['base.css', ...(head.styles ?? [])].map((css) => `<link rel="stylesheet" href="${esc(head.assets)}${esc(css)}">`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(head.title)}</title>
${styles.join('\n')}
<script type="module" src="${esc(head.assets)}${esc(head.script)}"></script>
</head>
<body${head.bodyClass ? ` class="${esc(head.bodyClass)}"` : ''}>
${body.trim()}
</body>
</html>
`;
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
