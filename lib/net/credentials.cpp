#include "lib/net/credentials.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

namespace troupe::net {

namespace {

constexpr const char* token_prefix = "trp1.";
constexpr std::size_t secret_bytes = 32;

[[noreturn]] void fail(const std::string& what) {
  auto why = openssl_errors();
  throw std::runtime_error(what + ": " + (why.empty() ? "unknown OpenSSL error" : why));
}

std::string to_hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

void add_name(X509_NAME* name, const char* field, const std::string& value) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                 -1, 0)
      != 1)
    fail(std::string{"cannot set certificate field "} + field);
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext || X509_add_ext(cert, ext, -1) != 1)
    fail(std::string{"cannot add certificate extension "} + value);
  X509_EXTENSION_free(ext);
}

/// A certificate for `key`, named CN=`common_name`, O=`cluster_id`.
x509_ptr new_certificate(EVP_PKEY* key, const std::string& common_name,
                         const std::string& cluster_id) {
  x509_ptr cert{X509_new()};
  if (!cert || X509_set_version(cert.get(), 2) != 1
      || X509_set_pubkey(cert.get(), key) != 1)
    fail("cannot create a certificate");
  auto* name = X509_get_subject_name(cert.get());
  add_name(name, "O", cluster_id);
  add_name(name, "CN", common_name);
  return cert;
}

std::string cluster_id_of(EVP_PKEY* ca_key) {
  unsigned char pub[64];
  std::size_t len = sizeof(pub);
  if (EVP_PKEY_get_raw_public_key(ca_key, pub, &len) != 1)
    fail("cannot read the CA's public key");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(pub, len, digest);
  return to_hex(digest, 8);
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0)
    return "localhost";
  return buf;
}

void write_file(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  auto tmp = path.string() + ".tmp" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  // The mode of a file that existed is not changed by open: set it.
  bool ok = ::fchmod(fd, mode) == 0
            && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())
            && ::fsync(fd) == 0;
  auto err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(err));
  }
}

template <class Write>
std::string pem_of(Write write) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new(BIO_s_mem()), &BIO_free};
  if (!bio || write(bio.get()) != 1)
    fail("cannot encode PEM");
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio.get(), &data);
  return std::string{data, static_cast<std::size_t>(n)};
}

} // namespace

cluster_token cluster_token::generate() {
  unsigned char bytes[secret_bytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    fail("cannot draw a random cluster token");
  return parse(token_prefix + to_hex(bytes, sizeof(bytes)));
}

cluster_token cluster_token::parse(const std::string& text) {
  auto prefix = std::string{token_prefix};
  if (text.rfind(prefix, 0) != 0)
    throw std::invalid_argument("the cluster token is malformed: it does not start with '"
                                + prefix + "' (it is printed by `troupe start --head`)");
  if (text.size() != prefix.size() + 2 * secret_bytes)
    throw std::invalid_argument("the cluster token is malformed: expected '" + prefix
                                + "' and " + std::to_string(2 * secret_bytes)
                                + " hex digits, got " + std::to_string(text.size())
                                + " characters");
  cluster_token t;
  t.text_ = text;
  for (auto i = prefix.size(); i < text.size(); i += 2) {
    auto hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0)
      throw std::invalid_argument("the cluster token is malformed: character "
                                  + std::to_string(hi < 0 ? i : i + 1)
                                  + " is not a hex digit");
    t.secret_ += static_cast<char>(hi * 16 + lo);
  }
  return t;
}

authority derive_authority(const cluster_token& token) {
  // The CA's Ed25519 key is an HMAC of the secret: every member derives the
  // same one; nobody without the token can.
  static constexpr char label[] = "troupe cluster CA v1";
  unsigned char seed[SHA256_DIGEST_LENGTH];
  unsigned int seed_len = 0;
  if (!HMAC(EVP_sha256(), token.secret().data(), static_cast<int>(token.secret().size()),
            reinterpret_cast<const unsigned char*>(label), sizeof(label) - 1, seed,
            &seed_len))
    fail("cannot derive the cluster's CA");
  authority ca;
  ca.key.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, 32));
  OPENSSL_cleanse(seed, sizeof(seed));
  if (!ca.key)
    fail("cannot derive the cluster's CA key");
  ca.cluster_id = cluster_id_of(ca.key.get());
  // Fixed serial and dates, and Ed25519's deterministic signature: the same
  // certificate, byte for byte, on every machine.
  ca.cert = new_certificate(ca.key.get(), "troupe cluster " + ca.cluster_id, ca.cluster_id);
  auto* x = ca.cert.get();
  if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1
      || ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1
      || ASN1_TIME_set_string_X509(X509_getm_notBefore(x), "20250101000000Z") != 1
      || ASN1_TIME_set_string_X509(X509_getm_notAfter(x), "21250101000000Z") != 1)
    fail("cannot fill in the CA certificate");
  add_extension(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(x, x, NID_subject_key_identifier, "hash");
  if (X509_sign(x, ca.key.get(), nullptr) <= 0)
    fail("cannot sign the CA certificate");
  return ca;
}

credentials issue_credentials(const cluster_token& token, const std::string& role) {
  auto ca = derive_authority(token);
  credentials c;
  c.cluster_id = ca.cluster_id;
  c.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!c.key)
    fail("cannot generate a key");
  auto cn = "troupe " + role + " " + host_name() + " " + std::to_string(::getpid());
  c.cert = new_certificate(c.key.get(), cn, ca.cluster_id);
  auto* x = c.cert.get();
  std::uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1)
    fail("cannot draw a serial number");
  if (X509_set_issuer_name(x, X509_get_subject_name(ca.cert.get())) != 1
      || ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1) != 1
      || !X509_gmtime_adj(X509_getm_notBefore(x), -3600)
      || !X509_time_adj_ex(X509_getm_notAfter(x), 3650, 0, nullptr))
    fail("cannot fill in a certificate");
  add_extension(x, ca.cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(x, ca.cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(x, ca.cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(x, ca.cert.get(), NID_authority_key_identifier, "keyid:always");
  if (X509_sign(x, ca.key.get(), nullptr) <= 0)
    fail("cannot sign a certificate");
  c.ca = std::move(ca.cert);
  return c;
}

void write_credentials(const std::filesystem::path& dir, const cluster_token& token,
                       const credentials& creds) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0)
    throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  auto ca = derive_authority(token);
  write_token_file(dir / "token", token);
  write_file(dir / "ca.pem", to_pem(ca.cert.get()), 0644);
  write_file(dir / "ca.key", pem_of([&](BIO* b) {
               return PEM_write_bio_PrivateKey(b, ca.key.get(), nullptr, nullptr, 0,
                                               nullptr, nullptr);
             }),
             0600);
  write_file(dir / "node.pem", to_pem(creds.cert.get()), 0644);
  write_file(dir / "node.key", pem_of([&](BIO* b) {
               return PEM_write_bio_PrivateKey(b, creds.key.get(), nullptr, nullptr, 0,
                                               nullptr, nullptr);
             }),
             0600);
}

std::string read_token_file(const std::filesystem::path& file) {
  struct stat st{};
  if (::stat(file.c_str(), &st) != 0)
    return "";
  if ((st.st_mode & 0077) != 0)
    throw std::runtime_error("the cluster token file " + file.string()
                             + " is readable by others: chmod 600 it");
  std::ifstream in{file};
  std::string text;
  std::getline(in, text);
  return text;
}

void write_token_file(const std::filesystem::path& file, const cluster_token& token) {
  write_secret_file(file, token.text());
}

void write_secret_file(const std::filesystem::path& file, const std::string& text) {
  write_file(file, text + "\n", 0600);
}

std::string subject_field(X509* cert, int nid) {
  char buf[256] = {};
  auto n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), nid, buf, sizeof(buf));
  return n > 0 ? std::string{buf, static_cast<std::size_t>(n)} : std::string{};
}

std::string openssl_errors() {
  std::string msg;
  while (auto e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += msg.empty() ? "" : "; ";
    msg += buf;
  }
  return msg;
}

std::string to_pem(X509* cert) {
  return pem_of([&](BIO* b) { return PEM_write_bio_X509(b, cert); });
}

} // namespace troupe::net
