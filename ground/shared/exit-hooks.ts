// The one place the ground hooks process exit. A test worker that crashes or
// exits past its afterAll must not leave daemons, engines or namespaces
// behind; 'exit' allows only synchronous work, so every clean-up here is.
const hooks = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const cleanup of hooks) {
    try {
      cleanup();
    } catch {
      // One failed clean-up must not keep the others from running.
    }
  }
}

/** Runs `cleanup` when the process exits; call the returned function once it is no longer needed. */
export function onExit(cleanup: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', runAll);
  }
  hooks.add(cleanup);
  return () => {
    hooks.delete(cleanup);
  };
}
