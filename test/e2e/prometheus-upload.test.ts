import { afterAll, expect, it } from 'vitest';
import { approx, Example, startExample } from '../helpers/examples';
import { UPLOAD_EXPOSITION } from '../helpers/upload-exposition';

let ex: Example | undefined;
afterAll(async () => ex?.stop());

it('the docs "upload" example: JSON branch and Prometheus template body', async () => {
  ex = await startExample('upload-prometheus');
  // Each /upload/N request updates on=request, then answers the key's JSON: the fifth shows the docs' values.
  let last = '';
  for (const size of ['16384', '64448', '64', '1028', '1028']) last = (await ex.get(`/upload/${size}`)).body;
  approx(JSON.parse(last), {
    stats: { '64': 1, '256': 1, '1024': 1, '4096': 3, '16384': 4, '+Inf': 5 },
    sum: 82952,
    count: 5,
    avg_size: 1077.9376,
  });
  await ex.get('/upload/1');
  const reply = await ex.get('/prometheus/upload_metric/');
  expect(reply.status).toBe(200);
  expect(reply.body).toBe(UPLOAD_EXPOSITION);
});
