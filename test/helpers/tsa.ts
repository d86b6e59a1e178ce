/**
 * A real RFC 3161 time-stamp authority for tests: the SDK's local TSA (`openssl ts -reply` behind a
 * small HTTP handler, with a CA made in the test's folder) — one implementation, used by
 * `calendar serve --tsa local` and by the tests.
 */
export {
  makeTsaCertificates,
  startLocalTsa as startTestTsa,
  type LocalTsa as TestTsa,
} from "../../packages/sdk/src/tsa/local";
