// Before jest starts: the loopback servers' certificate, which the npm scripts pass as NODE_EXTRA_CA_CERTS.
import { testCertificate } from '../__tests__/support/tls.mjs'

testCertificate()
