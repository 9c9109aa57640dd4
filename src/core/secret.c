/*
 * secret.c
 *		Tenant passwords: drawn from OpenSSL's CSPRNG, stored only as
 *		SCRAM-SHA-256 verifiers built here, so no statement ever carries one.
 */
#include "core/core.h"

#include <openssl/rand.h>

#include "libpq/scram.h"

#define PASSWORD_LENGTH 40

static const char alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/*
 * A random password of PASSWORD_LENGTH characters over 62 symbols (about 238
 * bits).  Bytes that would bias the choice (>= 248) are drawn again.
 */
char *
generate_password(void)
{
	char	   *password = palloc(PASSWORD_LENGTH + 1);
	int			n = 0;

	while (n < PASSWORD_LENGTH)
	{
		unsigned char bytes[64];
		int			i;

		if (RAND_bytes(bytes, sizeof(bytes)) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random password"),
					 errdetail("OpenSSL's random number generator failed.")));
		for (i = 0; i < sizeof(bytes) && n < PASSWORD_LENGTH; i++)
			if (bytes[i] < 248)
				password[n++] = alphabet[bytes[i] % 62];
	}
	password[n] = '\0';
	return password;
}

/* The SCRAM-SHA-256 verifier of a password, as CREATE ROLE ... PASSWORD takes it. */
char *
scram_verifier(const char *password)
{
	return pg_be_scram_build_secret(password);
}
