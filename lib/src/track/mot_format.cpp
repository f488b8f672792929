#include "cvtool/track/mot_format.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include "cvtool/core/error.hpp"

namespace cvtool {

std::vector<MotRow> parse_mot(const std::string& text, const std::string& name) {
  std::vector<MotRow> rows;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<double> v;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, ',')) {
      try {
        std::size_t used = 0;
        v.push_back(std::stod(field, &used));
        if (field.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument(field);
      } catch (const std::exception&) {
        throw Error(ErrorKind::Input, name + ":" + std::to_string(number) + ": not a number: '" + field + "'");
      }
    }
    if (v.size() < 6)
      throw Error(ErrorKind::Input, name + ":" + std::to_string(number) + ": expected frame,id,x,y,w,h[,score,...], got " +
                                        std::to_string(v.size()) + " fields");
    for (double x : v)
      if (!std::isfinite(x)) throw Error(ErrorKind::Input, name + ":" + std::to_string(number) + ": non-finite value");
    // Pixels, scores and counts: past 1e9 is no MOT file, and past int/float range the
    // conversions below would be undefined.
    for (double x : v)
      if (std::abs(x) > 1e9) throw Error(ErrorKind::Input, name + ":" + std::to_string(number) + ": value out of range");
    if (v[0] < 1 || v[0] != std::floor(v[0]))
      throw Error(ErrorKind::Input, name + ":" + std::to_string(number) + ": frame must be a whole number >= 1");
    if (v[1] != std::floor(v[1]))
      throw Error(ErrorKind::Input, name + ":" + std::to_string(number) + ": id must be a whole number");
    if (v[4] < 0 || v[5] < 0)
      throw Error(ErrorKind::Input, name + ":" + std::to_string(number) + ": negative box size");
    MotRow r;
    r.frame = int(v[0]);
    r.id = int(v[1]);
    r.box = {float(v[2]), float(v[3]), float(v[2] + v[4]), float(v[3] + v[5])};
    r.score = v.size() > 6 ? float(v[6]) : 1.0f;
    rows.push_back(r);
  }
  return rows;
}

std::vector<MotRow> read_mot(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorKind::Input, path + ": cannot open MOT file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_mot(buffer.str(), path);
}

std::string mot_line(const MotRow& r) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%d,%d,%.2f,%.2f,%.2f,%.2f,%.4f,-1,-1,-1\n", r.frame, r.id, r.box[0], r.box[1],
                r.box[2] - r.box[0], r.box[3] - r.box[1], r.score);
  return buf;
}

std::map<int, std::vector<MotRow>> rows_by_frame(const std::vector<MotRow>& rows) {
  std::map<int, std::vector<MotRow>> out;
  for (const auto& r : rows) out[r.frame].push_back(r);
  return out;
}

}  // namespace cvtool
