/*
 * Bench-only spike (issue 14): SRTP protect and send of one RTP packet from C, with the session
 * keys werift's DTLS derived, on the UDP socket werift's ICE nominated. Not used by the SFU:
 * it measures what a native egress would cost (bench/sfu-native-srtp.ts). Also the native floors
 * of bench:sfu (bench/sfu-floor.ts): every copy of a packet sent in one call with sendmmsg,
 * optionally SRTP-protected first — what the kernel alone, and a C SFU at the least, spend per copy.
 *
 * One profile, the one werift prefers and Chromium and Firefox offer: AEAD_AES_128_GCM
 * (RFC 7714 §8: IV = salt XOR (0, SSRC, ROC, SEQ), the RTP header as AAD, a 16-byte tag).
 * OpenSSL comes from the Node binary (its symbols are exported to addons).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <openssl/evp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PACKET 1500
#define GCM_TAG 16

typedef struct {
  unsigned char salt[12];
  EVP_CIPHER_CTX *cipher;
} srtp_ctx;

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  srtp_ctx *c = data;
  EVP_CIPHER_CTX_free(c->cipher);
  free(c);
}

static int buffer_arg(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  bool is;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) return 0;
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
}

/* context(key: Buffer(16), salt: Buffer(12)): the local SRTP session key and salt. */
static napi_value context(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  unsigned char *key, *salt;
  size_t key_len, salt_len;
  if (argc < 2 || !buffer_arg(env, argv[0], &key, &key_len) || !buffer_arg(env, argv[1], &salt, &salt_len) ||
      key_len != 16 || salt_len < 12) {
    napi_throw_type_error(env, NULL, "context(key16, salt12)");
    return NULL;
  }
  srtp_ctx *c = calloc(1, sizeof(srtp_ctx));
  if (!c) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  memcpy(c->salt, salt, 12);
  c->cipher = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(c->cipher, EVP_aes_128_gcm(), NULL, key, NULL);
  napi_value out;
  napi_create_external(env, c, finalize, NULL, &out);
  return out;
}

static size_t rtp_header_len(const unsigned char *p, size_t len) {
  if (len < 12) return 0;
  size_t h = 12 + 4 * (p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (len < h + 4) return 0;
    h += 4 + 4 * ((p[h + 2] << 8) | p[h + 3]);
  }
  return h <= len ? h : 0;
}

/* The RTP header's length when the packet fits MAX_PACKET once protected; 0 when it does not. */
static size_t protectable(const unsigned char *rtp, size_t len) {
  return len + GCM_TAG > MAX_PACKET ? 0 : rtp_header_len(rtp, len);
}

static napi_value int_value(napi_env env, int32_t v) {
  napi_value result;
  napi_create_int32(env, v, &result);
  return result;
}

/* SRTP-protect an RTP packet with a header of h bytes into out (len + GCM_TAG bytes). */
static int protect(srtp_ctx *c, const unsigned char *rtp, size_t len, size_t h, uint32_t roc, unsigned char *out) {
  unsigned char iv[12] = {0, 0, rtp[8], rtp[9], rtp[10], rtp[11], roc >> 24, roc >> 16, roc >> 8, roc, rtp[2], rtp[3]};
  for (int i = 0; i < 12; i++) iv[i] ^= c->salt[i];
  int n = 0;
  memcpy(out, rtp, h);
  EVP_EncryptInit_ex(c->cipher, NULL, NULL, NULL, iv);
  EVP_EncryptUpdate(c->cipher, NULL, &n, rtp, (int)h);
  EVP_EncryptUpdate(c->cipher, out + h, &n, rtp + h, (int)(len - h));
  EVP_EncryptFinal_ex(c->cipher, out + h + n, &n);
  EVP_CIPHER_CTX_ctrl(c->cipher, EVP_CTRL_GCM_GET_TAG, GCM_TAG, out + len);
  return (int)len + GCM_TAG;
}

/* send(ctx, fd, ipv4: number, port: number, rtp: Buffer, roc: number) -> bytes sent (-1: error) */
static napi_value send_packet(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  srtp_ctx *c;
  int32_t fd;
  uint32_t ip, port, roc;
  unsigned char *rtp;
  size_t len;
  if (argc < 6 || napi_get_value_external(env, argv[0], (void **)&c) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fd) != napi_ok || napi_get_value_uint32(env, argv[2], &ip) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &port) != napi_ok || !buffer_arg(env, argv[4], &rtp, &len) ||
      napi_get_value_uint32(env, argv[5], &roc) != napi_ok) {
    napi_throw_type_error(env, NULL, "send(ctx, fd, ip, port, rtp, roc)");
    return NULL;
  }
  size_t h = protectable(rtp, len);
  if (h == 0) return int_value(env, -1);
  unsigned char out[MAX_PACKET];
  int total = protect(c, rtp, len, h, roc, out);
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  to.sin_addr.s_addr = htonl(ip);
  ssize_t sent = sendto(fd, out, (size_t)total, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to);
  return int_value(env, sent < 0 ? -1 : (int32_t)sent);
}

#define MAX_FANOUT 128

/* socket() -> the descriptor of a new non-blocking UDP socket bound to 127.0.0.1 (-1: error). */
static napi_value udp_socket(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    fd = -1;
  }
  return int_value(env, fd);
}

/*
 * fanout(fd, ports: Uint16Array, rtp: Buffer, ctx?) -> copies sent: one sendmmsg of the packet
 * to 127.0.0.1 at every port, each copy SRTP-protected (ROC 0) first when a context is given.
 * A cost measure only: every copy is protected under the same key and nonce.
 */
static napi_value fanout(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  unsigned char *rtp;
  size_t len, count = 0;
  void *ports_data = NULL;
  napi_typedarray_type type;
  srtp_ctx *c = NULL;
  bool is_array = false;
  if (argc >= 2) napi_is_typedarray(env, argv[1], &is_array);
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || !is_array ||
      napi_get_typedarray_info(env, argv[1], &type, &count, &ports_data, NULL, NULL) != napi_ok ||
      type != napi_uint16_array || count > MAX_FANOUT || !buffer_arg(env, argv[2], &rtp, &len) ||
      (argc >= 4 && napi_get_value_external(env, argv[3], (void **)&c) != napi_ok)) {
    napi_throw_type_error(env, NULL, "fanout(fd, Uint16Array(<=128), rtp, ctx?)");
    return NULL;
  }
  size_t h = protectable(rtp, len);
  if (h == 0) return int_value(env, -1);
  /* Static: N-API calls come on the JavaScript thread only, one at a time. */
  static unsigned char copies[MAX_FANOUT][MAX_PACKET];
  static struct sockaddr_in to[MAX_FANOUT];
  static struct iovec iov[MAX_FANOUT];
  static struct mmsghdr msgs[MAX_FANOUT];
  const uint16_t *ports = ports_data;
  for (size_t i = 0; i < count; i++) {
    memset(&to[i], 0, sizeof to[i]);
    to[i].sin_family = AF_INET;
    to[i].sin_port = htons(ports[i]);
    to[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (c) {
      iov[i].iov_base = copies[i];
      iov[i].iov_len = (size_t)protect(c, rtp, len, h, 0, copies[i]);
    } else {
      iov[i].iov_base = rtp;
      iov[i].iov_len = len;
    }
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_name = &to[i];
    msgs[i].msg_hdr.msg_namelen = sizeof to[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int sent = count ? sendmmsg(fd, msgs, (unsigned)count, MSG_DONTWAIT) : 0;
  return int_value(env, sent);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "context", NAPI_AUTO_LENGTH, context, NULL, &f);
  napi_set_named_property(env, exports, "context", f);
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, send_packet, NULL, &f);
  napi_set_named_property(env, exports, "send", f);
  napi_create_function(env, "socket", NAPI_AUTO_LENGTH, udp_socket, NULL, &f);
  napi_set_named_property(env, exports, "socket", f);
  napi_create_function(env, "fanout", NAPI_AUTO_LENGTH, fanout, NULL, &f);
  napi_set_named_property(env, exports, "fanout", f);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
