'use strict';
/**
 * The child process of tools/registry/verdaccio.js: runs a real Verdaccio
 * (its programmatic `runServer`) on 127.0.0.1 and tells the parent the port
 * over IPC. Not meant to be started by hand.
 *
 *   node verdaccio-child.js <config.json> <port>
 *
 * It exits on SIGTERM/SIGINT (closing every connection first) and as soon as
 * the parent goes away (IPC disconnect), so a crashed test run cannot leave a
 * registry behind.
 */
const fs = require('fs');

async function main() {
  const [configFile, portArg] = process.argv.slice(2);
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  const { runServer } = require('verdaccio');
  const server = await runServer(config);

  let closing = false;
  const close = (code) => {
    if (closing) return;
    closing = true;
    server.close(() => process.exit(code));
    if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
    // Never hang on a stuck connection.
    setTimeout(() => process.exit(code), 2000).unref();
  };
  process.on('SIGTERM', () => close(0));
  process.on('SIGINT', () => close(0));
  process.on('disconnect', () => close(0));

  server.on('error', (error) => {
    process.send?.({ error: `cannot listen: ${error.message}` });
    process.exit(2);
  });
  server.listen(Number(portArg) || 0, '127.0.0.1', () => {
    process.send?.({ port: server.address().port });
  });
}

main().catch((error) => {
  process.send?.({ error: String(error && error.stack ? error.stack : error) });
  process.exit(1);
});
