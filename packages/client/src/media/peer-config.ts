import { conclaveCodecs, LOOPBACK_ICE, tolerateRepeatedHelloVerifyRequest } from '@conclave/rtc';
import { useAbsSendTime, useAudioLevelIndication, useSdesMid, type RTCPeerConnectionConfig } from 'werift';

/**
 * werift configuration of a bot's peer connections: the SFU's codecs (`@conclave/rtc`), and
 * loopback-only ICE for tests.
 */
export function botPeerConfig(loopbackOnly: boolean): RTCPeerConnectionConfig {
  // A bot is the DTLS client of its subscribe connections (it answers the SFU's offers).
  tolerateRepeatedHelloVerifyRequest();
  return {
    iceServers: [],
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
    ...(loopbackOnly ? LOOPBACK_ICE : {}),
    codecs: conclaveCodecs(),
    headerExtensions: {
      audio: [useSdesMid(), useAudioLevelIndication()],
      video: [useSdesMid(), useAbsSendTime()],
    },
  };
}
