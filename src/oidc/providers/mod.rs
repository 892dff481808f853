//! Ambient token providers beyond the CI ones in [`super`], as cosign's `pkg/providers`
//! (which Go gitsign v0.17.1 links in) has them:
//!
//! - [`spiffe`]: a JWT-SVID from the SPIFFE Workload API (`SPIFFE_ENDPOINT_SOCKET`, else
//!   `/tmp/spire-agent/public/api.sock`), one gRPC `FetchJWTSVID` over the unix socket;
//! - [`google`]: `google-workload-identity` (the GCE metadata server's identity endpoint) and
//!   `google-impersonate` (IAM credentials `generateIdToken` for
//!   `GOOGLE_SERVICE_ACCOUNT_NAME`).
//!
//! Each returns the raw token (a secret: never logged) or why it has none; [`super::identity`]
//! verifies it like every other token.

pub mod google;
pub mod spiffe;
