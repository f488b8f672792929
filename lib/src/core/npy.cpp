#include "cvtool/core/npy.hpp"

#include <cstring>
#include <fstream>
#include <regex>

#include "cvtool/core/error.hpp"

namespace cvtool {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[] = "\x93NUMPY";

bool little_endian_host() {
  const std::uint16_t probe = 1;
  unsigned char first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

}  // namespace

std::int64_t NpyHeader::count() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string npy_header_bytes(const std::vector<std::int64_t>& shape, const std::string& descr) {
  // numpy writes "(3,)" for one axis and "(3, 4)" for more; both parse the same.
  std::string shape_text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) shape_text += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) shape_text += ",";
  shape_text += ")";
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_text + ", }";
  // Magic (6) + version (2) + length (2) + dict + padding + '\n' is a multiple of 64.
  std::size_t total = 10 + dict.size() + 1;
  std::size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  if (dict.size() > 65535) throw Error(ErrorKind::Internal, "npy header too long");
  std::string out(kMagic, 6);
  out += char(1);
  out += char(0);
  out += char(dict.size() & 0xff);
  out += char((dict.size() >> 8) & 0xff);
  return out + dict;
}

void write_npy(const fs::path& path, const float* data, const std::vector<std::int64_t>& shape) {
  if (!little_endian_host()) throw Error(ErrorKind::Internal, "write_npy: big-endian hosts are not supported");
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(ErrorKind::Output, path.string() + ": cannot open for writing");
    std::string header = npy_header_bytes(shape);
    out.write(header.data(), std::streamsize(header.size()));
    out.write(reinterpret_cast<const char*>(data), std::streamsize(count * sizeof(float)));
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      throw Error(ErrorKind::Output, path.string() + ": write failed (disk full?)");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(ErrorKind::Output, path.string() + ": cannot rename the temp file into place");
  }
}

NpyHeader read_npy_header(std::istream& in, const std::string& what) {
  char pre[8];
  if (!in.read(pre, 8) || std::memcmp(pre, kMagic, 6) != 0) throw Error(ErrorKind::Input, what + ": not a .npy file");
  const int major = static_cast<unsigned char>(pre[6]);
  std::size_t len = 0, prefix = 0;
  unsigned char b[4] = {0, 0, 0, 0};
  if (major == 1) {
    if (!in.read(reinterpret_cast<char*>(b), 2)) throw Error(ErrorKind::Input, what + ": truncated .npy header");
    len = b[0] | (std::size_t(b[1]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (!in.read(reinterpret_cast<char*>(b), 4)) throw Error(ErrorKind::Input, what + ": truncated .npy header");
    len = b[0] | (std::size_t(b[1]) << 8) | (std::size_t(b[2]) << 16) | (std::size_t(b[3]) << 24);
    prefix = 12;
  } else {
    throw Error(ErrorKind::Input, what + ": unsupported .npy version " + std::to_string(major));
  }
  if (len > (1u << 20)) throw Error(ErrorKind::Input, what + ": absurd .npy header length");
  std::string dict(len, '\0');
  if (!in.read(dict.data(), std::streamsize(len))) throw Error(ErrorKind::Input, what + ": truncated .npy header");
  NpyHeader h;
  h.data_offset = prefix + len;
  std::smatch m;
  if (!std::regex_search(dict, m, std::regex("'descr'\\s*:\\s*'([^']*)'")))
    throw Error(ErrorKind::Input, what + ": .npy header has no descr");
  h.descr = m[1];
  if (std::regex_search(dict, m, std::regex("'fortran_order'\\s*:\\s*(True|False)"))) h.fortran_order = m[1] == "True";
  if (!std::regex_search(dict, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)")))
    throw Error(ErrorKind::Input, what + ": .npy header has no shape");
  std::string dims = m[1];
  std::regex number("[0-9]+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it)
    h.shape.push_back(std::stoll(it->str()));
  if (h.fortran_order && h.shape.size() > 1) throw Error(ErrorKind::Input, what + ": Fortran-order .npy is not supported");
  return h;
}

NpyArray read_npy(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Input, path.string() + ": cannot open");
  NpyHeader h = read_npy_header(in, path.string());
  NpyArray a;
  a.shape = h.shape;
  const std::int64_t n = h.count();
  if (n < 0 || n > (std::int64_t(1) << 34)) throw Error(ErrorKind::Input, path.string() + ": absurd .npy shape");
  a.data.resize(std::size_t(n));
  if (h.descr == "<f4" || (h.descr == "=f4" && little_endian_host())) {
    if (!in.read(reinterpret_cast<char*>(a.data.data()), std::streamsize(n * 4)))
      throw Error(ErrorKind::Input, path.string() + ": truncated .npy data");
  } else if (h.descr == "<f8") {
    std::vector<double> tmp(static_cast<std::size_t>(n));
    if (!in.read(reinterpret_cast<char*>(tmp.data()), std::streamsize(n * 8)))
      throw Error(ErrorKind::Input, path.string() + ": truncated .npy data");
    for (std::int64_t i = 0; i < n; ++i) a.data[std::size_t(i)] = float(tmp[std::size_t(i)]);
  } else {
    throw Error(ErrorKind::Input, path.string() + ": .npy dtype '" + h.descr + "' is not supported (float32 or float64)");
  }
  return a;
}

}  // namespace cvtool
