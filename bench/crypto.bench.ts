// npm run -s bench:crypto [-- --members-1000]
// SFrame per-frame cost against bare WebCrypto AES-GCM measured in the same run, frame
// attestation's cost against SFrame protect of the same frames, then MLS commit costs and sizes
// at several group sizes.
import { benchSFrame } from './crypto-sframe.js';
import { benchAttestation } from './crypto-attestation.js';
import { benchMls } from './crypto-mls.js';

const sizes = [10, 50, 200];
if (process.argv.includes('--members-1000')) sizes.push(1000);

for (const line of await benchSFrame()) console.log(line);
console.log('');
for (const line of await benchAttestation()) console.log(line);
console.log('');
await benchMls(sizes, (line) => console.log(line));
