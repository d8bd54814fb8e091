#pragma once

// A cluster's identity: one secret token, from which every member derives the
// same certificate authority, and each process its own certificate.
//
// Why the CA comes from the token (and is not a random key the head hands
// out): a node joins with nothing but the token (no enrolment round trip on
// an unauthenticated channel), and a new token is a new CA, so rotating the
// token retires every certificate issued under the old one at once.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace troupe::net {

/// Owning handles to OpenSSL objects.
struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

/// The cluster's secret, as users pass it: "trp1." and 64 hex digits.
class cluster_token {
public:
  /// A new random token.
  static cluster_token generate();

  /// Parses `text`; throws std::invalid_argument saying what is wrong with
  /// it (and never echoing it: a mistyped token is still mostly a secret).
  static cluster_token parse(const std::string& text);

  /// The token as users pass it.
  const std::string& text() const noexcept { return text_; }

  /// The 32 secret bytes.
  const std::string& secret() const noexcept { return secret_; }

private:
  std::string text_;
  std::string secret_;
};

/// What a process of the cluster proves itself with: the cluster's CA
/// certificate, its own certificate, signed by the CA, and that
/// certificate's key.
struct credentials {
  /// 16 hex digits naming the cluster (from the CA's public key): not a
  /// secret; shown by `troupe status`, and the organisation of every
  /// certificate the cluster's CA signs.
  std::string cluster_id;
  x509_ptr ca;
  x509_ptr cert;
  pkey_ptr key;
};

/// Derives the cluster's CA from `token` (the same bytes on every machine)
/// and issues a certificate for this process: common name "troupe <role>
/// <host> <pid>", valid from an hour ago for ten years.
credentials issue_credentials(const cluster_token& token, const std::string& role);

/// The CA's own key and certificate, for `write_credentials`.
struct authority {
  std::string cluster_id;
  x509_ptr cert;
  pkey_ptr key;
};

/// Derives the cluster's CA from `token`.
authority derive_authority(const cluster_token& token);

/// Writes the token (`token`), the CA (`ca.pem`, `ca.key`) and `creds`
/// (`node.pem`, `node.key`) into `dir`, created mode 0700. Files with a key
/// or the token are mode 0600. Throws std::runtime_error naming the file on
/// failure.
void write_credentials(const std::filesystem::path& dir, const cluster_token& token,
                       const credentials& creds);

/// Reads the token file `write_credentials` wrote, or "" when there is none.
/// Throws std::runtime_error when the file is readable by others.
std::string read_token_file(const std::filesystem::path& file);

/// Writes `token` to `file` (mode 0600, replaced atomically).
void write_token_file(const std::filesystem::path& file, const cluster_token& token);

/// Writes `text` and a newline to `file` (mode 0600, replaced atomically).
void write_secret_file(const std::filesystem::path& file, const std::string& text);

/// A certificate's subject field `nid` (NID_commonName,
/// NID_organizationName), or "".
std::string subject_field(X509* cert, int nid);

/// PEM text of `cert`.
std::string to_pem(X509* cert);

/// The texts of OpenSSL's queued errors (and clears them), "" if none.
std::string openssl_errors();

} // namespace troupe::net
