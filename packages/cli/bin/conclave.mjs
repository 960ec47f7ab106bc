#!/usr/bin/env node
// Launcher for the `conclave` command: registers tsx's loader in this process and runs the
// TypeScript entry point directly (no build step). One process, so signals (Ctrl-C, SIGTERM to
// this pid) reach the server without forwarding.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/main.ts', import.meta.url).href);
