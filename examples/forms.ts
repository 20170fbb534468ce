// Form-urlencoded and multipart bodies (with a file read once at load time).
// Run against `salvo serve`.
import { workflow, constantVus } from 'salvo';

const report = new TextEncoder().encode('id,total\n1,9.99\n2,19.50\n');

export default workflow('forms', {
  baseUrl: 'http://127.0.0.1:8080',
  executor: constantVus({ vus: 2, duration: '5s' }),
})
  .step('form', ({ http }) => http.post('/upload', { form: { q: 'salvo', tags: ['a', 'b'] } }))
  .check(
    'form',
    'fields received',
    (res) => res.json<{ fields: { tags: string[] } }>().fields.tags.length === 2,
  )
  .step('upload', ({ http }) =>
    http.post('/upload', {
      multipart: {
        title: 'monthly',
        file: { data: report, filename: 'report.csv', contentType: 'text/csv' },
      },
    }),
  )
  .check(
    'upload',
    'file received',
    (res) => res.json<{ files: { file: { size: number } } }>().files.file.size === report.length,
  );
