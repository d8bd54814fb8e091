#include "lib/net/credentials.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <openssl/x509.h>

using namespace troupe::net;

namespace {

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st{};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::string parse_error(const std::string& text) {
  try {
    cluster_token::parse(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("a token is 'trp1.' and 64 hex digits, and a malformed one says what is wrong") {
  auto t = cluster_token::generate();
  CHECK(t.text().size() == 69);
  CHECK(t.secret().size() == 32);
  CHECK(cluster_token::parse(t.text()).secret() == t.secret());
  CHECK(cluster_token::generate().text() != t.text());
  CHECK(parse_error("abc").find("does not start with 'trp1.'") != std::string::npos);
  CHECK(parse_error("trp1.abcd").find("got 9 characters") != std::string::npos);
  auto bad = t.text();
  bad[10] = 'g';
  auto why = parse_error(bad);
  CHECK(why.find("character 10 is not a hex digit") != std::string::npos);
  CHECK(why.find(t.text().substr(5)) == std::string::npos); // never echoed
}

TEST_CASE("every holder of a token derives the same CA; another token, another CA") {
  auto t = cluster_token::generate();
  auto a = derive_authority(t);
  auto b = derive_authority(cluster_token::parse(t.text()));
  CHECK(a.cluster_id.size() == 16);
  CHECK(a.cluster_id == b.cluster_id);
  CHECK(to_pem(a.cert.get()) == to_pem(b.cert.get())); // byte for byte
  auto other = derive_authority(cluster_token::generate());
  CHECK(other.cluster_id != a.cluster_id);
  CHECK(subject_field(a.cert.get(), NID_organizationName) == a.cluster_id);
}

TEST_CASE("a process's certificate is signed by its cluster's CA, names the cluster "
          "and the role, and no other CA verifies it") {
  auto t = cluster_token::generate();
  auto creds = issue_credentials(t, "worker");
  auto ca = derive_authority(t);
  CHECK(creds.cluster_id == ca.cluster_id);
  CHECK(X509_verify(creds.cert.get(), X509_get0_pubkey(ca.cert.get())) == 1);
  auto other = derive_authority(cluster_token::generate());
  CHECK(X509_verify(creds.cert.get(), X509_get0_pubkey(other.cert.get())) != 1);
  CHECK(subject_field(creds.cert.get(), NID_organizationName) == ca.cluster_id);
  auto cn = subject_field(creds.cert.get(), NID_commonName);
  CHECK(cn.rfind("troupe worker ", 0) == 0);
  CHECK(cn.find(std::to_string(::getpid())) != std::string::npos);
  // Two processes of one cluster: two keys.
  auto second = issue_credentials(t, "worker");
  CHECK(to_pem(second.cert.get()) != to_pem(creds.cert.get()));
}

TEST_CASE("credentials are written with keys and token readable by the owner only") {
  auto dir = std::filesystem::temp_directory_path()
             / ("troupe_creds_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto t = cluster_token::generate();
  write_credentials(dir, t, issue_credentials(t, "node"));
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir / "token") == 0600);
  CHECK(mode_of(dir / "ca.key") == 0600);
  CHECK(mode_of(dir / "node.key") == 0600);
  CHECK(mode_of(dir / "ca.pem") == 0644);
  CHECK(read_token_file(dir / "token") == t.text());
  CHECK(read_token_file(dir / "missing").empty());
  ::chmod((dir / "token").c_str(), 0644);
  CHECK_THROWS_WITH_AS(read_token_file(dir / "token"),
                       doctest::Contains("readable by others"), std::runtime_error);
  std::filesystem::remove_all(dir);
}
