#pragma once
#include <filesystem>
#include <string>

namespace cvtool {

std::string sha256_hex(const std::string& bytes);
std::string sha256_file(const std::filesystem::path& path);

}  // namespace cvtool
