// FTP: log in, upload a file, download it back, list the directory, remove the file. A missing
// file fails the step as ftp_550, a wrong password as ftp_530.
// Run: python3 -m pyftpdlib -p 2121 -w -u salvo -P secret (Debian's python3-pyftpdlib,
// installed by scripts/setup-protocols.sh), then salvo run examples/ftp.ts
import { workflow, constantVus, env } from 'salvo';

const ftpUrl = env.string('FTP_URL', 'ftp://salvo:secret@127.0.0.1:2121');

export default workflow('ftp', {
  executor: constantVus({ vus: 2, duration: '5s' }),
  thresholds: { errors: ['rate < 1%'] },
})
  .step('round-trip', async ({ ftp, vu }) => {
    const session = await ftp.connect(ftpUrl, { timeoutMs: 5000 });
    const name = `salvo-vu${vu.id}-${vu.iteration}.csv`;
    const up = await session.upload(name, 'id,name\n1,alpha\n2,beta\n');
    const down = await session.download(name);
    const listed = (await session.list()).some((e) => e.name === name);
    await session.remove(name);
    await session.close();
    return { same: down.bytes === up.bytes, listed, text: down.text() };
  })
  .check(
    'round-trip',
    'downloaded what was uploaded',
    (r) => r.same && r.text.startsWith('id,name'),
  )
  .check('round-trip', 'listed', (r) => r.listed);
