// Commands whose issues come later: their options are final, their handlers
// exit 2 "not implemented yet" until the issue lands.
import { notImplemented, type SigwardCommand } from './types.ts';
