// Before jest starts: the loopback servers' certificate, added to what the machine already trusts, in
// .cache/tls/trusted.pem, which the npm scripts pass as NODE_EXTRA_CA_CERTS (absolute).
import { trustedBundle } from '../__tests__/support/tls.mjs'

trustedBundle()
