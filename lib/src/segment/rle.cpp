#include "cvtool/segment/rle.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "cvtool/core/error.hpp"

namespace cvtool {

CocoRle rle_encode(const cv::Mat& mask) {
  if (mask.type() != CV_8UC1) throw Error(ErrorKind::Internal, "rle_encode: expected a CV_8UC1 mask");
  CocoRle rle;
  rle.height = mask.rows;
  rle.width = mask.cols;
  bool value = false;
  std::uint32_t run = 0;
  for (int x = 0; x < mask.cols; ++x) {
    for (int y = 0; y < mask.rows; ++y) {
      bool v = mask.at<unsigned char>(y, x) != 0;
      if (v != value) {
        rle.counts.push_back(run);
        run = 0;
        value = v;
      }
      ++run;
    }
  }
  rle.counts.push_back(run);
  return rle;
}

cv::Mat rle_decode(const CocoRle& rle) {
  // Filled column by column: a transposed buffer is row-major in that order.
  cv::Mat columns = cv::Mat::zeros(rle.width, rle.height, CV_8U);
  const std::size_t total = columns.total();
  std::size_t at = 0;
  unsigned char* p = columns.data;
  for (std::size_t i = 0; i < rle.counts.size(); ++i) {
    std::size_t end = std::min(total, at + rle.counts[i]);
    if (i % 2) std::fill(p + at, p + end, 1);
    at = end;
  }
  return columns.t();
}

std::string rle_to_string(const CocoRle& rle) {
  std::string s;
  for (std::size_t i = 0; i < rle.counts.size(); ++i) {
    std::int64_t x = rle.counts[i];
    if (i > 2) x -= std::int64_t(rle.counts[i - 2]);
    for (bool more = true; more;) {
      int c = int(x & 0x1f);
      x >>= 5;  // arithmetic: negative differences keep their sign
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s.push_back(char(c + 48));
    }
  }
  return s;
}

CocoRle rle_from_string(const std::string& counts, int height, int width) {
  CocoRle rle;
  rle.height = height;
  rle.width = width;
  std::size_t p = 0;
  while (p < counts.size()) {
    std::int64_t x = 0;
    int shift = 0;
    for (bool more = true; more; shift += 5) {
      if (p >= counts.size() || counts[p] < 48 || counts[p] > 111 || shift > 55)
        throw Error(ErrorKind::Config, "RLE counts: not a compressed COCO string");
      int c = counts[p++] - 48;
      x |= std::int64_t(c & 0x1f) << shift;
      more = c & 0x20;
      if (!more && (c & 0x10)) x |= -(std::int64_t(1) << (shift + 5));  // sign-extend
    }
    if (rle.counts.size() > 2) x += rle.counts[rle.counts.size() - 2];
    if (x < 0) throw Error(ErrorKind::Config, "RLE counts: negative run");
    rle.counts.push_back(std::uint32_t(x));
  }
  return rle;
}

namespace {

// rleFrPoly: walk the boundary at 5x resolution, keep the points where it crosses a
// pixel-centre column, and turn those column crossings into runs.
CocoRle rle_from_polygon(const std::vector<double>& xy, int h, int w) {
  const double scale = 5;
  const std::size_t k = xy.size() / 2;
  std::vector<int> x(k + 1), y(k + 1);
  for (std::size_t j = 0; j < k; ++j) {
    x[j] = int(scale * xy[2 * j] + .5);
    y[j] = int(scale * xy[2 * j + 1] + .5);
  }
  x[k] = x[0];
  y[k] = y[0];
  std::vector<int> u, v;  // dense boundary points
  for (std::size_t j = 0; j < k; ++j) {
    int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
    const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    const double s = dx >= dy ? double(ye - ys) / dx : double(xe - xs) / dy;
    const int steps = std::max(dx, dy);
    for (int d = 0; d <= steps; ++d) {
      const int t = flip ? steps - d : d;
      if (dx >= dy) {
        u.push_back(t + xs);
        v.push_back(int(ys + s * t + .5));
      } else {
        v.push_back(t + ys);
        u.push_back(int(xs + s * t + .5));
      }
    }
  }
  std::vector<std::uint32_t> a;  // column-major positions where the inside toggles
  for (std::size_t j = 1; j < u.size(); ++j) {
    if (u[j] == u[j - 1]) continue;
    double xd = double(u[j] < u[j - 1] ? u[j] : u[j] - 1);
    xd = (xd + .5) / scale - .5;
    if (std::floor(xd) != xd || xd < 0 || xd > w - 1) continue;
    double yd = double(v[j] < v[j - 1] ? v[j] : v[j - 1]);
    yd = (yd + .5) / scale - .5;
    yd = std::ceil(std::clamp(yd, 0.0, double(h)));
    a.push_back(std::uint32_t(int(xd) * h + int(yd)));
  }
  a.push_back(std::uint32_t(h) * std::uint32_t(w));
  std::sort(a.begin(), a.end());
  std::uint32_t previous = 0;
  for (auto& t : a) {
    std::uint32_t at = t;
    t -= previous;
    previous = at;
  }
  CocoRle rle;
  rle.height = h;
  rle.width = w;
  // Empty runs between two toggles cancel: the following run joins the previous one.
  std::size_t j = 0;
  rle.counts.push_back(a[j++]);
  while (j < a.size()) {
    if (a[j] > 0) {
      rle.counts.push_back(a[j++]);
    } else if (++j < a.size()) {
      rle.counts.back() += a[j++];
    }
  }
  return rle;
}

}  // namespace

CocoRle rle_from_polygons(const std::vector<std::vector<double>>& polygons, int height, int width) {
  cv::Mat merged = cv::Mat::zeros(height, width, CV_8U);
  for (const auto& polygon : polygons) merged |= rle_decode(rle_from_polygon(polygon, height, width));
  return rle_encode(merged);
}

std::uint64_t rle_area(const CocoRle& rle) {
  std::uint64_t area = 0;
  for (std::size_t i = 1; i < rle.counts.size(); i += 2) area += rle.counts[i];
  return area;
}

std::uint64_t rle_intersection(const CocoRle& a, const CocoRle& b) {
  std::size_t ia = 0, ib = 0;
  std::uint64_t left_a = a.counts.empty() ? 0 : a.counts[0], left_b = b.counts.empty() ? 0 : b.counts[0];
  std::uint64_t shared = 0;
  while (ia < a.counts.size() && ib < b.counts.size()) {
    std::uint64_t step = std::min(left_a, left_b);
    if ((ia % 2) && (ib % 2)) shared += step;
    left_a -= step;
    left_b -= step;
    if (left_a == 0 && ++ia < a.counts.size()) left_a = a.counts[ia];
    if (left_b == 0 && ++ib < b.counts.size()) left_b = b.counts[ib];
  }
  return shared;
}

nlohmann::json rle_to_json(const CocoRle& rle) {
  return {{"size", {rle.height, rle.width}}, {"counts", rle_to_string(rle)}};
}

CocoRle rle_from_json(const nlohmann::json& seg, int height, int width, const std::string& at) {
  if (seg.is_array()) {
    std::vector<std::vector<double>> polygons;
    for (const auto& p : seg) {
      if (!p.is_array() || p.size() < 6 || p.size() % 2 ||
          !std::all_of(p.begin(), p.end(), [](const nlohmann::json& v) { return v.is_number(); }))
        throw Error(ErrorKind::Config, at + ".segmentation: polygons must be [x1, y1, x2, y2, x3, y3, ...]");
      polygons.push_back(p.get<std::vector<double>>());
    }
    return rle_from_polygons(polygons, height, width);
  }
  if (!seg.is_object() || !seg.contains("counts") || !seg.contains("size") || !seg["size"].is_array() ||
      seg["size"].size() != 2)
    throw Error(ErrorKind::Config, at + ".segmentation: expected polygons or an RLE {size, counts}");
  int h = seg["size"][0].get<int>(), w = seg["size"][1].get<int>();
  if (h != height || w != width)
    throw Error(ErrorKind::Config, at + ".segmentation: size [" + std::to_string(h) + ", " + std::to_string(w) +
                                       "] but the image is " + std::to_string(height) + " x " + std::to_string(width));
  CocoRle rle;
  if (seg["counts"].is_string()) {
    try {
      rle = rle_from_string(seg["counts"].get<std::string>(), h, w);
    } catch (const Error& e) {
      throw Error(ErrorKind::Config, at + ".segmentation." + e.what());
    }
  } else if (seg["counts"].is_array()) {
    rle.height = h;
    rle.width = w;
    for (const auto& c : seg["counts"]) {
      if (!c.is_number_unsigned() && !(c.is_number_integer() && c.get<long long>() >= 0))
        throw Error(ErrorKind::Config, at + ".segmentation.counts: expected non-negative integers");
      rle.counts.push_back(c.get<std::uint32_t>());
    }
  } else {
    throw Error(ErrorKind::Config, at + ".segmentation.counts: expected a string or a list of integers");
  }
  std::uint64_t total = 0;
  for (auto c : rle.counts) total += c;
  if (total != std::uint64_t(h) * std::uint64_t(w))
    throw Error(ErrorKind::Config, at + ".segmentation: the runs cover " + std::to_string(total) + " pixels, not " +
                                       std::to_string(std::uint64_t(h) * w));
  return rle;
}

}  // namespace cvtool
