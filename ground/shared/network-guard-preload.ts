// Loaded with `node --import` (GUARD_NODE_ARGS) ahead of any script the
// tests, the demo or the bench start: the guard is in before the script's
// first import can open a socket.
import { installNetworkGuard } from './network-guard.ts';

installNetworkGuard(`a spawned process (pid ${process.pid})`);
