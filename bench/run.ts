// Placeholder until the benchmark issue: `npm run bench` says so instead of failing.
console.log('benchmarks are not written yet (see the benchmarks issue); nothing was measured');
