/* Calls each syscall named on the command line and prints "name result ERRNONAME|OK": the seccomp
   tests copy it, built with gcc -static, into a busybox container (busybox makes none of these calls). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <fcntl.h>
static long call(const char *name) {
    if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0, -3, 0);
    if (!strcmp(name, "add_key")) return syscall(SYS_add_key, "user", "pyc-probe", "x", 1, -2);
    if (!strcmp(name, "unshare")) return unshare(CLONE_NEWUSER);
    if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL);
    if (!strcmp(name, "open_by_handle_at")) return syscall(SYS_open_by_handle_at, -1, NULL, O_RDONLY);
    errno = 0; return -2;
}
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        errno = 0;
        long r = call(argv[i]);
        printf("%s %ld %s\n", argv[i], r, r == -1 ? strerrorname_np(errno) : "OK");
    }
    return 0;
}
