// --plot FILE.png: the latency percentile spectrum (HdrHistogram's chart: latency against
// percentile on a log scale of 1/(1-p)) above msgs/s and p99 over time, drawn by gnuplot
// (Debian gnuplot-nox) from data files in a temporary directory.
#pragma once

#include <string>

#include "tools/load/report.h"

namespace wsp_load {

// False with the reason when gnuplot is missing or fails.
bool write_plot(const std::string& path, const RunReport& report, std::string* error);

}  // namespace wsp_load
