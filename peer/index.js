// `node peer` from the repo root resolves this folder; the program itself is the bundle that
// `npm install` (or `npm run build`) writes to dist/.
import '../dist/peer.cjs';
