#pragma once

// The dashboard's page files, built into the binary (actors/dashboard/,
// written into a source by actors/dashboard/embed.py).

#include <string>
#include <string_view>
#include <vector>

namespace troupe {

struct dashboard_file {
  std::string path;          ///< where it is served, e.g. "/" or "/dashboard.js"
  std::string type;          ///< its Content-Type
  std::string_view content;
};

const std::vector<dashboard_file>& dashboard_files();

} // namespace troupe
