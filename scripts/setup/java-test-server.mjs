// Setup step for tests: Temporal's time-skipping test server. @temporalio/testing downloads it as a native binary
// from Temporal's own host, which this project does not use (package registries only); the same server is published on
// Maven Central as io.temporal:temporal-test-server, a Java program. Maven copies it and its dependencies into
// .tools/java-test-server/lib, and scripts/temporal-test-server starts it. A stamp (the pom's hash) makes the step
// instant once done and re-runs it when the pom changes.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, SetupError, readText, rel, run, say, sayDone, sha256 } from './common.mjs';

export const JAVA_TEST_SERVER_POM = path.join(ROOT, 'test', 'support', 'java-test-server', 'pom.xml');
export const JAVA_TEST_SERVER_DIR = path.join(ROOT, '.tools', 'java-test-server');
const LIB = path.join(JAVA_TEST_SERVER_DIR, 'lib');
const STAMP = path.join(JAVA_TEST_SERVER_DIR, 'pom.sha256');
const MAIN_JAR = /^temporal-test-server-.*\.jar$/;

const INSTALL_HINT = 'install a JDK 17 or newer and Maven (for example `apt-get install openjdk-17-jdk-headless maven`) and rerun';

export function ensureJavaTestServer() {
  const hash = sha256(JAVA_TEST_SERVER_POM);
  if (readText(STAMP) === hash && fs.existsSync(LIB) && fs.readdirSync(LIB).some((f) => MAIN_JAR.test(f))) {
    sayDone(`Temporal time-skipping test server: ${rel(LIB)}`);
    return;
  }
  if (run('java', ['-version']).missing) {
    throw new SetupError(`the time-skipping tests run Temporal's Java test server, but java was not found on PATH: ${INSTALL_HINT}.`);
  }
  if (run('mvn', ['-v']).missing) {
    throw new SetupError(
      `the time-skipping tests need Temporal's Java test server from Maven Central, but mvn was not found on PATH: ${INSTALL_HINT}.`,
    );
  }
  say(`copying Temporal's time-skipping test server from Maven Central into ${rel(LIB)} (mvn, a few seconds)`);
  // Copied next to the final folder and renamed into place: an interrupted copy never looks finished.
  const staging = `${LIB}.partial`;
  fs.rmSync(staging, { recursive: true, force: true });
  const copied = run('mvn', [
    '-B',
    '-q',
    '-f',
    JAVA_TEST_SERVER_POM,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${staging}`,
    '-DincludeScope=runtime',
  ]);
  if (!copied.ok) {
    if (copied.output) console.error(copied.output);
    throw new SetupError(`mvn could not copy the Temporal test server from Maven Central (exit ${copied.status}): see its output above.`);
  }
  fs.rmSync(LIB, { recursive: true, force: true });
  fs.renameSync(staging, LIB);
  fs.writeFileSync(STAMP, `${hash}\n`);
}
