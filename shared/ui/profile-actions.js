// What the dashboard and a profile's page both ask before acting on a profile, in the same words.

/**
 * A restart (or a switch that restarts the profile's worker) closes its Chrome: say so first, and what comes
 * back. `what`: what the person is about to do ("Restarting", "Making it current restarts its worker, which").
 * @param {string} handle @param {string} what @param {boolean} misLoggedIn
 */
export function confirmClosesChrome(handle, what, misLoggedIn) {
  return confirm(`${what} closes the Chrome of "${handle}"${misLoggedIn ? ' (logged into the MIS)' : ''}. It is opened and logged in again right after, and its CSV and spreadsheet come back.`);
}

/** @param {string} handle */
export function confirmDelete(handle) {
  return confirm(`Delete the profile "${handle}"? Its token is removed; its credentials and MIS settings files are kept.`);
}
