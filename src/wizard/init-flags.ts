/** The flags of `hactl init` as commander parses them (strings until checked). */
export interface InitFlags {
  name?: string;
  distribution?: string;
  k8sVersion?: string;
  node?: string[];
  nodeAuth?: string[];
  sshUser?: string;
  sshAuth?: string;
  identityFile?: string;
  passwordEnv?: string;
  lbMode?: string;
  lbHost?: string[];
  lbPort?: string[];
  vip?: string;
  interface?: string;
  apiPort?: string;
  web?: boolean;
  ha?: boolean;
  systemReplicas?: string;
  evictionTimeout?: string;
  autoscaling?: boolean;
  min?: string;
  max?: string;
  linkerd?: boolean;
  postgresqlEnv?: string;
  mongodbEnv?: string;
  s3Env?: string;
  redisEnv?: string;
  rabbitmqEnv?: string;
}
