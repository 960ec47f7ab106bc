/*
 * Bench-only spike (issue 14): SRTP protect and send of one RTP packet from C, with the session
 * keys werift's DTLS derived, on the UDP socket werift's ICE nominated. Not used by the SFU:
 * it measures what a native egress would cost (bench/sfu-native-srtp.ts).
 *
 * One profile, the one werift prefers and Chromium and Firefox offer: AEAD_AES_128_GCM
 * (RFC 7714 §8: IV = salt XOR (0, SSRC, ROC, SEQ), the RTP header as AAD, a 16-byte tag).
 * OpenSSL comes from the Node binary (its symbols are exported to addons).
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>

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
  size_t h = rtp_header_len(rtp, len);
  napi_value result;
  if (h == 0 || len + GCM_TAG > MAX_PACKET) {
    napi_create_int32(env, -1, &result);
    return result;
  }
  unsigned char out[MAX_PACKET];
  unsigned char iv[12] = {0, 0, rtp[8], rtp[9], rtp[10], rtp[11], roc >> 24, roc >> 16, roc >> 8, roc, rtp[2], rtp[3]};
  for (int i = 0; i < 12; i++) iv[i] ^= c->salt[i];
  int n = 0;
  memcpy(out, rtp, h);
  EVP_EncryptInit_ex(c->cipher, NULL, NULL, NULL, iv);
  EVP_EncryptUpdate(c->cipher, NULL, &n, rtp, (int)h);
  EVP_EncryptUpdate(c->cipher, out + h, &n, rtp + h, (int)(len - h));
  EVP_EncryptFinal_ex(c->cipher, out + h + n, &n);
  EVP_CIPHER_CTX_ctrl(c->cipher, EVP_CTRL_GCM_GET_TAG, GCM_TAG, out + len);
  int total = (int)len + GCM_TAG;
  struct sockaddr_in to;
  memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  to.sin_addr.s_addr = htonl(ip);
  ssize_t sent = sendto(fd, out, (size_t)total, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to);
  napi_create_int32(env, sent < 0 ? -1 : (int32_t)sent, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "context", NAPI_AUTO_LENGTH, context, NULL, &f);
  napi_set_named_property(env, exports, "context", f);
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, send_packet, NULL, &f);
  napi_set_named_property(env, exports, "send", f);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
