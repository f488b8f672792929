#pragma once
// MOTChallenge text files: "frame,id,x,y,w,h,score,-1,-1,-1", frames 1-based.
// Detection files (det.txt) carry id -1.
#include <array>
#include <map>
#include <string>
#include <vector>

namespace cvtool {

struct MotRow {
  int frame = 0;
  int id = -1;
  std::array<float, 4> box{};  // x1, y1, x2, y2
  float score = 1;
};

// Reads a MOT file; throws Error(Input) naming the file and line of a malformed row.
std::vector<MotRow> read_mot(const std::string& path);
std::vector<MotRow> parse_mot(const std::string& text, const std::string& name);
std::string mot_line(const MotRow& row);

// Rows grouped by frame.
std::map<int, std::vector<MotRow>> rows_by_frame(const std::vector<MotRow>& rows);

}  // namespace cvtool
