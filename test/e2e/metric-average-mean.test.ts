import { afterAll, it } from 'vitest';
import { approx, Example, startExample } from '../helpers/examples';

// Its own file: the 5 s window is waited out for real, in parallel with the other files.
let ex: Example | undefined;
afterAll(async () => ex?.stop());

it('average mean window=5s count=8: 0.1 0.1 0.4 10 1 1 → 2.1, then 0 once 5 s have passed', async () => {
  ex = await startExample('average-mean');
  for (const v of ['0.1', '0.1', '0.4', '10', '1', '1']) await ex.get(`/metric/set/${v}`);
  const last = Date.now();
  approx(await ex.json('/api/'), { KEY: 2.1 });
  await new Promise((r) => setTimeout(r, Math.max(0, last + 5200 - Date.now())));
  approx(await ex.json('/api/'), { KEY: 0 });
});
