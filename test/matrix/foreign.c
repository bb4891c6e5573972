/* A non-Node party to an onlyone lock: binds the v1 abstract address the way the seed's C example does,
 * with the whole sizeof(struct sockaddr_un), the name NUL-padded to fill sun_path.
 *   foreign hold NAME       bind+listen, print {"event":"acquired","pid":N}, hold until stdin closes
 *   foreign try NAME        try to bind, print {"event":"busy"} (EADDRINUSE) or {"event":"acquired"}
 *   foreign try-short NAME  the same with the exact length (no padding): a different kernel address */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  int n = snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "onlyone/v1/u%u/%s", (unsigned)getuid(), argv[2]);
  if (n < 0 || n >= (int)sizeof addr.sun_path - 1) return 2;
  socklen_t len = strcmp(argv[1], "try-short") == 0 ? (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n) : (socklen_t)sizeof addr;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 3;
  if (bind(fd, (struct sockaddr *)&addr, len) != 0) {
    if (errno == EADDRINUSE) { printf("{\"event\":\"busy\"}\n"); return 0; }
    printf("{\"event\":\"error\",\"errno\":%d}\n", errno);
    return 1;
  }
  if (listen(fd, 16) != 0) return 4;
  printf("{\"event\":\"acquired\",\"pid\":%d}\n", (int)getpid());
  fflush(stdout);
  if (strcmp(argv[1], "hold") == 0) {
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {}
  }
  close(fd);
  return 0;
}
