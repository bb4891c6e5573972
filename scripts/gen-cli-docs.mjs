// Post-build step (after bundle-cli.mjs): writes dist/man/onlyone.1 and dist/completion/{onlyone.bash,_onlyone}
// from the built CLI's own --help, so the man page and the completions say what --help says.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bashCompletion, zshCompletion } from './cli-docs/completion.mjs';
import { readHelp } from './cli-docs/help-model.mjs';
import { manPage } from './cli-docs/man.mjs';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const model = readHelp(`${dist}cli/main.js`);
mkdirSync(`${dist}man`, { recursive: true });
mkdirSync(`${dist}completion`, { recursive: true });
writeFileSync(`${dist}man/onlyone.1`, manPage(model));
writeFileSync(`${dist}completion/onlyone.bash`, bashCompletion(model));
writeFileSync(`${dist}completion/_onlyone`, zshCompletion(model));
