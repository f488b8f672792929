#pragma once
// Optimal assignment (Hungarian method with potentials, O(n^2 m)) for a rectangular
// cost matrix. Used by the tracker (IoU costs) and by the MOT evaluator.
#include <vector>

namespace cvtool {

struct Assignment {
  std::vector<int> row_to_col;  // -1: row unassigned
  std::vector<int> col_to_row;  // -1: column unassigned
};

// Minimises the total cost over pairs whose cost is <= max_cost; pairs above it are
// never made (a row or column may stay unassigned instead). cost[r][c], rows x cols.
Assignment solve_assignment(const std::vector<std::vector<double>>& cost, double max_cost);

}  // namespace cvtool
