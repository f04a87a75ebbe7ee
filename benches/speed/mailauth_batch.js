// The peer of `benches/speed.sh cli`: mailauth (Node) authenticates every
// message file of a directory (SPF, DKIM, DMARC, ARC, BIMI as its
// `authenticate` does), N at once, against one DNS server, with a cache of
// every answer for the whole run (as a long-lived mailauth user would keep
// one). Prints one line: files, seconds, messages/s, how many passed DMARC
// and how many DKIM results of each kind it gave (pass, none = "message
// not signed", fail…), so a run where mailauth verified no signature
// shows: its figure would leave out the RSA work.
//
//   node mailauth_batch.js DIR DNS_HOST:PORT CONCURRENCY IP HELO MAIL_FROM
'use strict';
const { authenticate } = require('mailauth');
const dns = require('dns');
const fs = require('fs');
const path = require('path');

const [dir, server, concurrency, ip, helo, sender] = process.argv.slice(2);
const upstream = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
upstream.setServers([server]);
const answers = new Map();
const resolver = (name, rrtype) => {
    const key = `${rrtype} ${String(name).toLowerCase()}`;
    let answer = answers.get(key);
    if (!answer) {
        answer = upstream.resolve(name, rrtype);
        answer.catch(() => {});
        answers.set(key, answer);
    }
    return answer;
};

async function main() {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.eml')).sort();
    let next = 0;
    const dkim = new Map();
    let dmarcPass = 0;
    const started = process.hrtime.bigint();
    async function worker() {
        while (next < files.length) {
            const file = files[next++];
            const message = await fs.promises.readFile(path.join(dir, file));
            const result = await authenticate(message, { ip, helo, sender, mta: 'mailauth-bench', resolver });
            for (const r of (result.dkim && result.dkim.results) || []) {
                dkim.set(r.status.result, (dkim.get(r.status.result) || 0) + 1);
            }
            if (result.dmarc && result.dmarc.status.result === 'pass') dmarcPass++;
        }
    }
    await Promise.all(Array.from({ length: Number(concurrency) }, worker));
    const secs = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`mailauth ${files.length} files ${secs.toFixed(3)} s ${(files.length / secs).toFixed(0)} messages/s dmarc_pass ${dmarcPass} dkim ${JSON.stringify(Object.fromEntries(dkim))}`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
