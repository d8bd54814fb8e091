#include "tools/node_files.hpp"

#include "lib/net/security.hpp"

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace troupe::tools {

namespace fs = std::filesystem;

fs::path state_dir() {
  return net::runtime_dir();
}

fs::path pid_file(int pid) {
  return state_dir() / ("node-" + std::to_string(pid) + ".pid");
}

void write_record(const node_record& rec) {
  auto tmp = rec.file;
  tmp += ".tmp";
  {
    std::ofstream out{tmp};
    out << "pid=" << rec.pid << "\naddress=" << rec.address << "\nexe=" << rec.exe
        << "\nstart_time=" << rec.start_time << "\nhead=" << rec.head << '\n';
    if (!out)
      throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, rec.file);
}

std::vector<node_record> read_records() {
  std::vector<node_record> out;
  std::error_code ec;
  for (auto& entry : fs::directory_iterator(state_dir(), ec)) {
    auto name = entry.path().filename().string();
    if (name.rfind("node-", 0) != 0 || entry.path().extension() != ".pid")
      continue;
    std::ifstream in{entry.path()};
    node_record rec;
    rec.file = entry.path();
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (eq == std::string::npos)
        continue;
      auto key = line.substr(0, eq);
      auto value = line.substr(eq + 1);
      try {
        if (key == "pid")
          rec.pid = std::stoi(value);
        else if (key == "address")
          rec.address = value;
        else if (key == "exe")
          rec.exe = value;
        else if (key == "start_time")
          rec.start_time = std::stoull(value);
        else if (key == "head")
          rec.head = value;
      } catch (const std::exception&) {
        rec.pid = 0;
      }
    }
    if (rec.pid > 0)
      out.push_back(std::move(rec));
  }
  return out;
}

std::uint64_t process_start_time(int pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text;
  if (!std::getline(in, text))
    return 0;
  // The command name (field 2) may contain spaces and parentheses: the
  // fields we want follow the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest{text.substr(close + 1)};
  std::string field;
  rest >> field; // field 3: state
  if (field == "Z" || field == "X")
    return 0;
  for (int i = 4; i <= 22; ++i)
    rest >> field;
  try {
    return std::stoull(field);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string process_exe(int pid) {
  char buf[PATH_MAX];
  auto link = "/proc/" + std::to_string(pid) + "/exe";
  auto n = ::readlink(link.c_str(), buf, sizeof(buf) - 1);
  if (n <= 0)
    return {};
  std::string exe{buf, static_cast<std::size_t>(n)};
  const std::string deleted = " (deleted)";
  if (exe.size() > deleted.size() &&
      exe.compare(exe.size() - deleted.size(), deleted.size(), deleted) == 0)
    exe.resize(exe.size() - deleted.size());
  return exe;
}

bool is_alive(const node_record& rec) {
  auto started = process_start_time(rec.pid);
  return started != 0 && started == rec.start_time && process_exe(rec.pid) == rec.exe;
}

} // namespace troupe::tools
