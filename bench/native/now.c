/* Prints CLOCK_MONOTONIC as a JSON event; run by flock(1) as the waiter's command, so the benchmark learns
 * when flock(1) acquired the lock on the same clock as Node's process.hrtime.bigint(). */
#include <stdio.h>
#include <time.h>

int main(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  printf("{\"event\":\"acquired\",\"t\":\"%lld\"}\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  return 0;
}
