// Mocha root hooks: tests never read or write the user's saved convolution choices (~/.cache/gaplab).
import { CONV_CHOICES_ENV } from '../src/backend/native/conv-choices.js';

export const mochaHooks = {
  beforeAll(): void {
    // Every test process (and the training processes tests spawn) times the layouts afresh, so auto mode is exercised
    // and results do not depend on what earlier runs on this machine picked. Tests of the files set their own folder.
    process.env[CONV_CHOICES_ENV] = 'off';
  },
};
