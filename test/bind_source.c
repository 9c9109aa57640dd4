/*
 * test/bind_source.c — an LD_PRELOAD shim for the TAP tests (SourceAddress.pm).
 *
 * The login guard decides by the client's address (a tenant's allowed_ips),
 * so the tests must log in over TCP from several addresses: 127.0.0.2,
 * 127.0.0.3, ::1, ...  libpq cannot choose the source address of its
 * connections (the kernel picks 127.0.0.1 for any 127.x destination), and
 * psql has no option for it either: this wraps connect().  With
 * BIND_SOURCE_ADDR set, a TCP socket of that address's family is bound to it
 * (port 0: any) before it connects; unix sockets, UDP, the other family, or
 * BIND_SOURCE_ADDR unset: connect() as usual.  A failed bind fails the
 * connect() with bind's errno: a test never logs in from another address
 * than the one it meant.
 *
 *   cc -shared -fPIC -o bind_source.so test/bind_source.c -ldl
 *   LD_PRELOAD=$PWD/bind_source.so BIND_SOURCE_ADDR=127.0.0.2 psql "host=127.0.0.1 ..."
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

int
connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	static int	(*real_connect) (int, const struct sockaddr *, socklen_t);
	const char *source = getenv("BIND_SOURCE_ADDR");
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	struct sockaddr_in in4 = {.sin_family = AF_INET};
	int			type = 0;
	socklen_t	type_len = sizeof(type);

	if (!real_connect)
		real_connect = (int (*) (int, const struct sockaddr *, socklen_t)) dlsym(RTLD_NEXT, "connect");
	if (source && addr && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 && type == SOCK_STREAM)
	{
		if (addr->sa_family == AF_INET && inet_pton(AF_INET, source, &in4.sin_addr) == 1 &&
			bind(fd, (struct sockaddr *) &in4, sizeof(in4)) != 0)
			return -1;
		if (addr->sa_family == AF_INET6 && inet_pton(AF_INET6, source, &in6.sin6_addr) == 1 &&
			bind(fd, (struct sockaddr *) &in6, sizeof(in6)) != 0)
			return -1;
	}
	return real_connect(fd, addr, len);
}
