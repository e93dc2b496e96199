// gaplab <train|compare|cam|bench> [...]: one command in front of the entry points (the npm scripts stay as aliases).
import { gaplab } from './gaplab-route.js';

await gaplab();
