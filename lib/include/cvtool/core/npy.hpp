#pragma once
// NumPy .npy files (format 1.0; 2.0 and 3.0 headers are read too): float32
// little-endian C-order matrices, readable by numpy.load. Written atomically.
#include <cstdint>
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

namespace cvtool {

struct NpyHeader {
  std::string descr;                 // e.g. "<f4"
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
  std::size_t data_offset = 0;       // bytes from the start of the file to the data
  std::int64_t count() const;        // product of the shape (1 for a scalar)
};

struct NpyArray {
  std::vector<std::int64_t> shape;
  std::vector<float> data;  // row-major
};

// The bytes of a .npy file's preamble (magic, version 1.0, header padded to 64).
std::string npy_header_bytes(const std::vector<std::int64_t>& shape, const std::string& descr = "<f4");

// Writes `data` (row-major, product(shape) floats) as a float32 .npy file, through a
// temp file renamed into place. Throws Error(Output).
void write_npy(const std::filesystem::path& path, const float* data, const std::vector<std::int64_t>& shape);

// Parses the preamble; leaves `in` at the first data byte. Throws Error(Input) naming
// `what` for a file that is not .npy or is not little-endian C-order.
NpyHeader read_npy_header(std::istream& in, const std::string& what);

// Reads a float32 (or float64, converted) C-order array. Throws Error(Input).
NpyArray read_npy(const std::filesystem::path& path);

}  // namespace cvtool
