/*
 * probe - a static program the CLI tests put in images to look at the
 * sandbox `plinth test` runs them in:
 *   probe id | caps | cwd | hostname | env NAME | exists PATH
 *   probe write PATH       create PATH (exit 1 when it cannot)
 *   probe ifaces           the IPv4 interfaces, "NAME up" when up
 *   probe connect ADDR     TCP to ADDR:80 (exit 1 when it cannot)
 *   probe say TEXT CODE    TEXT on stderr, exit CODE
 *   probe sleep SECONDS | spam
 *   probe unshare          a new user namespace ("unshare: ok" or why not)
 *   probe forks N          fork up to N children that wait; "forks: K" and
 *                          "limited" when fork failed before N
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int caps(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	if (!f)
		return 2;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7) || !strncmp(line, "CapBnd:", 7) ||
		    !strncmp(line, "NoNewPrivs:", 11))
			fputs(line, stdout);
	fclose(f);
	return 0;
}

static int ifaces(void)
{
	struct ifaddrs *all;
	if (getifaddrs(&all) < 0)
		return 2;
	for (struct ifaddrs *i = all; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
			printf("%s%s\n", i->ifa_name, (i->ifa_flags & IFF_UP) ? " up" : "");
	freeifaddrs(all);
	return 0;
}

static int connect_to(const char *addr)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
	if (s < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		return 2;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("connect %s: %s\n", addr, strerror(errno));
		return 1;
	}
	printf("connected to %s\n", addr);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	const char *arg = argc > 2 ? argv[2] : "";
	char buf[4096];
	if (!strcmp(cmd, "id")) {
		printf("uid=%u gid=%u\n", (unsigned)getuid(), (unsigned)getgid());
	} else if (!strcmp(cmd, "caps")) {
		return caps();
	} else if (!strcmp(cmd, "cwd")) {
		printf("%s\n", getcwd(buf, sizeof(buf)) ? buf : "?");
	} else if (!strcmp(cmd, "hostname")) {
		printf("%s\n", gethostname(buf, sizeof(buf)) == 0 ? buf : "?");
	} else if (!strcmp(cmd, "env")) {
		printf("%s\n", getenv(arg) ? getenv(arg) : "(unset)");
	} else if (!strcmp(cmd, "exists")) {
		struct stat st;
		printf("%s %s\n", arg, lstat(arg, &st) == 0 ? "present" : "absent");
	} else if (!strcmp(cmd, "write")) {
		int fd = open(arg, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			printf("cannot write %s: %s\n", arg, strerror(errno));
			return 1;
		}
		printf("wrote %s\n", arg);
	} else if (!strcmp(cmd, "ifaces")) {
		return ifaces();
	} else if (!strcmp(cmd, "connect")) {
		return connect_to(arg);
	} else if (!strcmp(cmd, "say") && argc > 3) {
		fprintf(stderr, "%s\n", arg);
		return (int)strtol(argv[3], NULL, 10);
	} else if (!strcmp(cmd, "sleep")) {
		sleep((unsigned)strtoul(arg, NULL, 10));
	} else if (!strcmp(cmd, "spam")) {
		memset(buf, 'x', sizeof(buf));
		for (;;)
			if (write(1, buf, sizeof(buf)) < 0)
				return 1;
	} else if (!strcmp(cmd, "unshare")) {
		if (unshare(CLONE_NEWUSER) < 0) {
			printf("unshare: %s\n", strerror(errno));
			return 1;
		}
		printf("unshare: ok\n");
	} else if (!strcmp(cmd, "forks")) {
		long want = strtol(arg, NULL, 10), k = 0;
		for (; k < want; k++) {
			pid_t pid = fork();
			if (pid < 0)
				break;
			if (pid == 0) {
				pause();
				_exit(0);
			}
		}
		/* the children go with the container when it ends */
		printf("forks: %ld%s\n", k, k < want ? " limited" : "");
	} else {
		fprintf(stderr, "probe: unknown command '%s'\n", cmd);
		return 64;
	}
	return 0;
}
