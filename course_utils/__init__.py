r"""course_utils: the small package behind the course 'Variational autoencoders and world models'.

Students read it beside the chapters (the notebooks print its source with `inspect.getsource`).
Each formula has one home; the chapter that introduces it is named in every public docstring.

Chapter -> where its code lives ("defined in"):

  00 generative models, autoencoders   data.toy_2d
  01 Bayes posterior, MLE              latent_models (LinearGaussian, NonlinearGaussian), quadrature
  02 ELBO via Jensen                   elbo, gaussian (log_normal, sample, kl_normal_full), montecarlo
  03 KL divergence with SymPy          gaussian (kl_normal_std, kl_normal), symbolic
  04 reparameterization                gaussian (z_from_eps, reparameterize), estimators, montecarlo
  05 VAE on MNIST                      models (MLPVAE, ConvVAE), losses, objectives, train, checkpoints,
                                       data.mnist, display.sliders, display.widgets
  06 beta-VAE, KKT, dSprites           data.dsprites, disentanglement (MIG, beta-VAE metric), objectives
                                       (capacity_loss, CapacitySchedule, DualAscent), train.fit_stream
  07 VQ-VAE                            quantize, models (VQVAE, CodePrior), losses (squared_error, codebook_loss,
                                       commitment_loss, categorical_nll), objectives (vq_vae_loss, code_prior_nll,
                                       codebook_usage), display.widgets (code_editor)
  08 World Models                      envs (Dodge, and CarRacing in 64 x 64 frames), models (MDN, MDNRNN, LinearController),
                                       losses.mdn_nll, objectives (mdn_regression_nll, mdn_rnn_loss), world (rollouts,
                                       sequences, dream, evolve with `cma`), display.animation

Math and models (what the chapters teach; `gaussian`, `losses` and `models` import only torch):
  gaussian, losses, objectives, elbo, latent_models, quadrature, symbolic, estimators, montecarlo, quantize,
  models/
Data: data/ (toy_2d, mnist, download, dsprites).   Environments: envs/ (gymnasium).   Figures and interaction: display/ (plotting, sliders, widgets, animation).
Figures: display/style (the course's figure style and readability check), display/diagrams (drawn diagrams).
Running the course: config (tier, language, device, seed), environment (first cell), check (exercise
self-checks), exercises (chNN: the exercises' reference answers, imported by the checks), train (`fit`),
checkpoints (safetensors + JSON), files (atomic writes).
Instructors only: instructor/ (parity of the es/en twins, authoring, pretrain, pretrain_vq, pretrain_dsprites
pretrain_world and pretrain_carracing of the shipped weights).
"""
__version__ = "0.2.0"
