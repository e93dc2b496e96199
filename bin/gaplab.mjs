#!/usr/bin/env node
// gaplab: the one command (train, compare, cam, bench). Runs the TypeScript entry points in this process through
// tsx's loader, so Ctrl-C and SIGTERM reach the trainer directly (no relay process in between).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/gaplab.ts');
