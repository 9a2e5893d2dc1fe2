/* hello - the static program of plinth's example image: it greets and says
 * which user it runs as, so a test can see the image's hardened default. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	printf("hello from plinth\n");
	printf("uid=%u gid=%u\n", (unsigned)getuid(), (unsigned)getgid());
	for (int i = 1; i < argc; i++)
		printf("arg: %s\n", argv[i]);
	return 0;
}
