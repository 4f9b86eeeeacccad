// How idle OpenMP threads wait. libgomp's default makes a thread that reaches
// a barrier spin for a while before sleeping. Loom runs hundreds of short
// parallel regions per training step (an LSTM has several per time step), so
// on a machine where another process holds a core, the spinning thread burns
// the time slice its partner needs: 2 threads then ran the small translator's
// step 15-50× slower than 1 (docs/PERFORMANCE.md). Passive waiting (sleep at
// once) avoids that. libgomp reads its settings from the environment while
// the program is loaded, before main, so a program can change them only by
// setting the variable and starting itself again.
#pragma once

namespace loom {

// Unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is already set (the user's choice
// stands), sets OMP_WAIT_POLICY=passive and re-executes this program with
// the same arguments; call it first thing in main. Returns only when nothing
// was changed or the re-execution failed (the program then runs as before).
void prefer_passive_openmp_waiting(char** argv);

}  // namespace loom
