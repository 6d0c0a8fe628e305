/*
 * idle: opens N TCP connections to a server and holds them without sending anything, like
 * terminals that are connected but idle. Connects at most --batch at a time, then prints one JSON
 * line {"connected":N,"failed":F,"ms":T} and holds the connections until SIGTERM/SIGINT, its parent
 * process dies, or (when stdin is a pipe) stdin reaches end of file. Reports connections the server closed on stderr.
 *
 *   idle --port P [--host 127.0.0.1] [--connections 10000] [--batch 500]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 0, want = 10000, batch = 500;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v && strcmp(a, "--help")) { fprintf(stderr, "idle: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "--host")) host = argv[++i];
        else if (!strcmp(a, "--port")) port = atoi(argv[++i]);
        else if (!strcmp(a, "--connections")) want = atoi(argv[++i]);
        else if (!strcmp(a, "--batch")) batch = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: idle --port P [--host 127.0.0.1] [--connections 10000] [--batch 500]\n");
            return strcmp(a, "--help") ? 2 : 0;
        }
    }
    if (port <= 0 || want < 0 || batch < 1) { fprintf(stderr, "idle: --port is required\n"); return 2; }
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (raise_nofile((rlim_t)want + 64) != 0) {
        fprintf(stderr, "idle: cannot raise the open-file limit to %d\n", want + 64);
        return 1;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { fprintf(stderr, "idle: bad host %s\n", host); return 2; }

    int ep = epoll_create1(EPOLL_CLOEXEC);
    int *fds = calloc((size_t)want, sizeof *fds);
    int connected = 0, failed = 0, pending = 0, next = 0;
    uint64_t t0 = now_ns(), limit = t0 + 60000000000ull;
    struct epoll_event events[1024];
    while ((next < want || pending > 0) && !stop && now_ns() < limit) {
        while (next < want && pending < batch) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) { failed++; next++; continue; }
            if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
                close(fd);
                failed++;
                next++;
                continue;
            }
            fds[next] = fd;
            struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)next};
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
            pending++;
            next++;
        }
        int n = epoll_wait(ep, events, 1024, 100);
        for (int e = 0; e < n; e++) {
            int i = (int)events[e].data.u32, fd = fds[i], err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            pending--;
            if (err || (events[e].events & (EPOLLERR | EPOLLHUP))) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
                fds[i] = -1;
                failed++;
            } else {
                /* from now on only a close by the server is of interest */
                struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLIN, .data.u32 = (uint32_t)i};
                epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
                connected++;
            }
        }
    }
    failed += pending;
    printf("{\"connected\":%d,\"failed\":%d,\"ms\":%.1f}\n", connected, failed, (double)(now_ns() - t0) / 1e6);
    fflush(stdout);

    int closed = 0;
    struct stat st;
    int watch_stdin = fstat(0, &st) == 0 && S_ISFIFO(st.st_mode); /* a parent's pipe: its end ends us */
    struct pollfd in = {.fd = 0, .events = POLLIN};
    while (!stop) {
        if (watch_stdin && poll(&in, 1, 0) > 0) {
            char buf[256];
            ssize_t r = read(0, buf, sizeof buf);
            if (r <= 0) break;
        }
        int n = epoll_wait(ep, events, 1024, 200);
        for (int e = 0; e < n; e++) {
            int i = (int)events[e].data.u32;
            if (fds[i] < 0) continue;
            epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
            close(fds[i]);
            fds[i] = -1;
            closed++;
        }
        if (n > 0) fprintf(stderr, "idle: the server closed %d connections so far\n", closed);
    }
    for (int i = 0; i < want; i++)
        if (fds[i] > 0) close(fds[i]);
    return 0;
}
