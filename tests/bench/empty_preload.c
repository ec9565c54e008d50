/*
 * empty_preload.c - an LD_PRELOAD object with nothing in it: the floor that any preloaded
 * object costs a process (the dynamic loader finds, maps and relocates it, and searches it
 * for every symbol it binds). Benchmark 4 compares libocspstaple.so with this.
 */
int ocspstaple_bench_empty_preload;
