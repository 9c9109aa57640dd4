#!/usr/bin/python3
"""A test double of the EC2 instance metadata service, IMDSv2 only.

Listens on 127.0.0.1 (an ephemeral port, written to --port-file once it is
listening) and serves:

  PUT /latest/api/token                            needs X-aws-ec2-metadata-token-ttl-seconds
  GET /latest/meta-data/iam/security-credentials/  the role name
  GET /latest/meta-data/iam/security-credentials/ROLE   the role's credentials

Every GET must carry X-aws-ec2-metadata-token with the token the PUT gave,
or it gets 401, as the real service answers.  Each request is appended to
--log as one line: method, path, and whether the token header was right.

--mode hang: accept connections but answer nothing for a long time, to test
timeouts and cancellation.  --mode no-role: the instance has no role (404).
"""
import argparse
import http.server
import json
import os
import socketserver
import time

TOKEN = 'AQAEAimds-double-token+/=='
ROLE = 'regress-imds-role'
CREDENTIALS = {
    'Code': 'Success',
    'LastUpdated': '2024-01-01T00:00:00Z',
    'Type': 'AWS-HMAC',
    'AccessKeyId': 'ASIAIMDSDOUBLE000001',
    'SecretAccessKey': 'imdsSecretKey/abc+def/ghi+jkl/mno+pqr0000',
    'Token': 'IQoJb3JpZ2luX2VjImds/Double+Session/Token==',
    'Expiration': '2099-01-01T00:00:00Z',
}
CREDENTIALS_PATH = '/latest/meta-data/iam/security-credentials/'


def make_handler(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, fmt, *a):
            pass

        def record(self, note):
            with open(args.log, 'a') as f:
                f.write(f'{self.command} {self.path} {note}\n')

        def reply(self, status, body):
            data = body.encode()
            self.send_response(status)
            self.send_header('Content-Type', 'text/plain')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self):
            if args.mode == 'hang':
                time.sleep(args.hang_seconds)
            length = int(self.headers.get('Content-Length') or 0)
            if length:
                self.rfile.read(length)
            if self.path != '/latest/api/token':
                self.record('not-found')
                return self.reply(404, 'not found')
            if not self.headers.get('X-aws-ec2-metadata-token-ttl-seconds'):
                self.record('no-ttl')
                return self.reply(400, 'missing ttl')
            self.record('token-issued')
            self.reply(200, TOKEN)

        def do_GET(self):
            if args.mode == 'hang':
                time.sleep(args.hang_seconds)
            if self.headers.get('X-aws-ec2-metadata-token') != TOKEN:
                self.record('bad-token')
                return self.reply(401, 'unauthorized')
            self.record('token-ok')
            if self.path == CREDENTIALS_PATH:
                if args.mode == 'no-role':
                    return self.reply(404, 'not found')
                return self.reply(200, ROLE + '\n')
            if self.path == CREDENTIALS_PATH + ROLE:
                return self.reply(200, json.dumps(CREDENTIALS))
            self.reply(404, 'not found')

    return Handler


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--port-file', required=True)
    parser.add_argument('--log', required=True)
    parser.add_argument('--mode', choices=['normal', 'hang', 'no-role'], default='normal')
    parser.add_argument('--hang-seconds', type=float, default=120)
    args = parser.parse_args()
    server = Server(('127.0.0.1', 0), make_handler(args))
    tmp = args.port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == '__main__':
    main()
