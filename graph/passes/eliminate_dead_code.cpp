// Pass eliminate_dead_code: drops every node that no program output needs.
// Pre:  a verified program.
// Post: the graph holds exactly the ancestors of program.outputs, plus every
//       input and parameter node (the executor accepts feeds by name, and a
//       parameter store may bind parameters the outputs no longer read);
//       relative order is kept and ids are renumbered densely; outputs remapped.
#include "graph/passes/passes.hpp"
#include "graph/passes/rewrite.hpp"

namespace loom {

void run_eliminate_dead_code(Program& program, const CompileOptions&) {
  const Graph& g = program.graph;
  std::vector<char> live = reaching(g, program.outputs);
  GraphRewriter rw(g);
  for (uint32_t id = 0; id < g.size(); ++id)
    if (live[id] || g.is_input({id}) || g.is_parameter({id})) rw.copy({id});
  program = rw.finish(program.outputs);
}

}  // namespace loom
